/**
 * How glibc's malloc is set up in the processes that run models (the runtime the extension
 * starts, the CLI): large allocations on transparent huge pages.
 *
 * Why: a capture runs one onnxruntime session per segment, one after another. Each frees its
 * [heads, n, n] tensors when its run ends; glibc hands anything above 32 MB back to the kernel,
 * so the next segment's tensors arrive as fresh 4 KiB pages, one page fault each. On the
 * bench's GPT-2-small-shaped model a 2,048-token panel capture took 2.7 million minor faults
 * (4.5 s; the plain forward 2.1 s). `glibc.malloc.hugetlb=1` (glibc 2.35 and later) makes
 * malloc mark its memory for transparent huge pages, so the same tensors fault 2 MiB at a time:
 * 10 thousand faults, 2.8 s, the same peak RSS. Keeping freed memory instead
 * (`glibc.malloc.mmap_max=0`) removes the faults too but leaves gigabytes resident between
 * captures (docs/runtime.md, "Page faults").
 *
 * glibc reads GLIBC_TUNABLES once, at process start, so whoever starts the process sets it: the
 * extension when it starts the runtime, the CLI by starting itself again once. Older glibc
 * ignores an unknown tunable, other C libraries ignore the variable, and with transparent huge
 * pages set to `never` it changes nothing. A user's own `glibc.malloc.hugetlb` wins, and
 * ATTENTION_INSPECTOR_DEFAULT_MALLOC=1 leaves malloc as it is.
 */

export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb=1';
/** Set to 1, the processes start with malloc as the system sets it. */
export const DEFAULT_MALLOC_VARIABLE = 'ATTENTION_INSPECTOR_DEFAULT_MALLOC';

/**
 * The environment a model-running process should start with: `env` itself when nothing is to
 * change (not Linux, opted out, hugetlb already chosen), else a copy with the tunable appended
 * to any GLIBC_TUNABLES the user has.
 */
export function withHugePages(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): NodeJS.ProcessEnv {
  if (platform !== 'linux' || env[DEFAULT_MALLOC_VARIABLE] === '1') return env;
  const current = env.GLIBC_TUNABLES ?? '';
  if (/(^|:)glibc\.malloc\.hugetlb=/.test(current)) return env;
  return { ...env, GLIBC_TUNABLES: current ? `${current}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE };
}
