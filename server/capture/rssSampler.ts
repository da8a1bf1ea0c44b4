/**
 * Peak resident memory during a capture. onnxruntime runs off the JS thread, so a timer can
 * sample while the graph executes; the peak is what a user needs to size a model.
 */
export interface RssSampler {
  sample(): void;
  stop(): void;
  peak(): number;
}

export function sampleRss(intervalMs = 10): RssSampler {
  let peak = process.memoryUsage().rss;
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
    },
    peak: () => peak,
  };
}
