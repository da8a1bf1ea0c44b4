/**
 * A command that never ends, started the way the CLI starts (server/cli/relaunch.ts): the
 * launcher starts it again with huge pages, and the second process waits with a free event
 * loop, as a capture does between session runs. Tests kill the launcher and expect it gone.
 */
import { endWithLauncher, relaunchEnv, runAgain } from '../../server/cli/relaunch';

const env = relaunchEnv();
if (env) runAgain(env);
else {
  endWithLauncher();
  setInterval(() => undefined, 1000);
}
