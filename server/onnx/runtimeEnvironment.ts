/**
 * Process environment that onnxruntime reads when its first session is created. Imported for its
 * effect by every module that creates sessions and by the entry points, before any session exists.
 *
 * onnxruntime-node's Linux build (1.30) carries a telemetry client that, on the first session of
 * a process: writes `mat-debug-<pid>.log` and `.ses` into the machine-wide /tmp, reads
 * /proc/self/cmdline and matches it with a recursive std::regex, which overflows the native stack
 * (SIGSEGV) once the command line is about 30 kB long, e.g. a long `--text`, and may try to
 * upload over HTTPS. The product promises no network at run time and no stray files, so the
 * client is switched off with the variable onnxruntime itself honours.
 */
export const ORT_TELEMETRY_VARIABLE = 'ORT_DISABLE_TELEMETRY';

process.env[ORT_TELEMETRY_VARIABLE] = '1';
