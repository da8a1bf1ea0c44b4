/**
 * A real small file system for "disk full" and "read-only" cases: a tmpfs of a few hundred KiB
 * mounted on a temp folder. Needs the right to mount (root with CAP_SYS_ADMIN, as in this
 * project's CI container); elsewhere mountSmallDisk() returns undefined and the test skips,
 * because a faked ENOSPC would not show whether the space really comes back.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  readOnly(): void;
  unmount(): void;
}

export function mountSmallDisk(kib: number): SmallDisk | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ai-small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k,mode=0755`, 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return {
    dir,
    readOnly: () => execFileSync('mount', ['-o', 'remount,ro', dir], { stdio: 'ignore' }),
    unmount: () => {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
