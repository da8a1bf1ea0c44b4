/**
 * Peak resident memory during a capture: what a user needs to size a model. A timer samples
 * RSS, but onnxruntime-node's run holds the JS thread (measured: 24 timer ticks in a 37 s
 * capture), so the peak inside a run is invisible to it. The kernel's lifetime maximum
 * (getrusage maxRSS) fills the gap: when it grew during the capture, the new maximum was
 * reached during the capture, and it is the capture's peak.
 */
export interface RssSampler {
  sample(): void;
  stop(): void;
  peak(): number;
}

const maxRss = (): number => process.resourceUsage().maxRSS * 1024;

export function sampleRss(intervalMs = 10): RssSampler {
  let peak = process.memoryUsage().rss;
  const maxBefore = maxRss();
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage().rss);
  };
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    sample,
    stop: () => {
      sample();
      clearInterval(timer);
      const maxAfter = maxRss();
      if (maxAfter > maxBefore) peak = Math.max(peak, maxAfter);
    },
    peak: () => peak,
  };
}
