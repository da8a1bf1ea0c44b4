/** The panel hosts' log port (panelHost.ts) over the extension's log: one line per rejection or failure. */
import type { PanelLog } from './panelHost';
import { log } from './log';
import { firstLine } from '../common/errors';

export const panelLog: PanelLog = {
  warn: (line) => log().warn(line),
  failed: (context, e) => {
    const line = firstLine(e);
    log().error(`${context}: ${line}`);
    return line;
  },
};
