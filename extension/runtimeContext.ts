/**
 * Owns the language client that talks to the runtime (dist/server.js over IPC): start, restart
 * (stop with a timeout, dispose, start), and recovery from crashes with exponential backoff.
 * The context keys follow it: attentionInspector.runtimeDown disables the commands that need
 * the runtime while it is down (it is unset before activation, so those commands show in the
 * palette and activate the extension), attentionInspector.runtimeReady drives the Models
 * view's waiting message. Server notifications are re-emitted as events, so panels and
 * commands survive a restart without re-registering.
 *
 * `request` is the one way commands and panels ask the runtime for something: it reads the
 * settings, shows progress (with the runtime's work-done reports), cancels, and reports errors
 * through showError so every failure is logged.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  TransportKind,
  WorkDoneProgress,
  type LanguageClientOptions,
  type RequestParam,
  type RequestType,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { CaptureStartedNotification, LayerNotification, RuntimeStatusNotification, type ModelInfo } from '../protocol/runtime';
import { CrashBackoff } from './backoff';
import type { RuntimeAvailability } from './commandTable';
import { log, showError } from './log';
import { readSettings, SETTINGS_SECTION, type Settings } from './settings';
import type { RuntimeStatusBar } from './statusBar';
import { isRequestCancelled } from '../common/cancellation';
import { withHugePages } from '../common/mallocTunables';

const READY_KEY = 'attentionInspector.runtimeReady';
const DOWN_KEY = 'attentionInspector.runtimeDown';
const STOP_TIMEOUT_MS = 2000;
const MAX_CRASH_RESTARTS = 5;

export interface RequestOptions {
  /** The notification's title; without one the request runs without a progress notification. */
  progress?: string;
  /** A Cancel button on the notification: cancels the request ($/cancelRequest). */
  cancellable?: boolean;
  /** What failed, as the error message starts ("Open Model failed"); omitted, errors are only thrown. */
  failure?: string;
}

/** A failure request() has already logged and shown; callers only update their own state. */
export class ReportedError extends Error {
  constructor(readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** The user cancelled, or the runtime saw the request cancelled (-32800) before it started. */
export function isCancellation(e: unknown): boolean {
  return e instanceof vscode.CancellationError || (typeof e === 'object' && e !== null && isRequestCancelled(e));
}

export interface OpenModelState {
  path: string;
  info: ModelInfo;
}

export class RuntimeContext implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private stopping = false;
  private readonly backoff = new CrashBackoff(MAX_CRASH_RESTARTS);
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly layerEmitter = new vscode.EventEmitter<LayerNotification.Params>();
  private readonly startedEmitter = new vscode.EventEmitter<CaptureStartedNotification.Params>();
  private readonly readyEmitter = new vscode.EventEmitter<boolean>();
  readonly onLayer = this.layerEmitter.event;
  readonly onCaptureStarted = this.startedEmitter.event;
  /** Fires true after each successful start and false when the runtime goes down. */
  readonly onReady = this.readyEmitter.event;
  /** The model the user opened last; its id is only valid in the runtime that opened it. */
  model: OpenModelState | undefined;
  /** Paths opened in this session, so a restarted runtime can reopen the current one. */
  lastModelPath: string | undefined;
  /** The text of the last inspection, offered again by the Compare command. */
  lastText: string | undefined;

  private starting: Promise<void> | undefined;
  /** Set by the first start: until then the runtime is idle, started by whatever first needs it. */
  private wanted = false;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly statusBar: RuntimeStatusBar,
  ) {}

  get ready(): boolean {
    return this.client?.isRunning() ?? false;
  }

  /** For the command guard (extension/commandTable.ts, refusal). */
  get availability(): RuntimeAvailability {
    if (this.ready) return 'running';
    if (this.starting) return 'starting';
    if (!this.wanted) return 'idle';
    return this.restartTimer ? 'restarting' : 'down';
  }

  /**
   * Starts the runtime the first time something needs it (a command, a request, the Models
   * view, a config.json), or waits for a start in progress. A runtime that went down after
   * that is not started again here: the crash backoff or "Restart Runtime" does that. A failed
   * first start is reported with a way to restart.
   */
  async ensureStarted(): Promise<void> {
    if (this.starting) return this.settled();
    if (this.wanted || this.client) return;
    try {
      await this.start();
    } catch (e) {
      this.statusBar.set('error', 'the runtime did not start');
      // Commands that need no runtime (logs, restart) stay usable so the user can recover.
      void showError('Attention Inspector could not start its runtime', e, 'Restart Runtime').then((a) => {
        if (a === 'Restart Runtime') void vscode.commands.executeCommand('attentionInspector.restartRuntime');
      });
    }
  }

  /** Resolves when a start in progress has ended, however it ended. */
  async settled(): Promise<void> {
    await this.starting?.catch(() => undefined);
  }

  /** The settings as they are now (read on each request, so a change applies to the next one). */
  settings(): Settings {
    return readSettings(vscode.workspace.getConfiguration(SETTINGS_SECTION));
  }

  /**
   * Sends one request to the runtime. `params` may be a function of the settings and of the
   * work-done token (set when `progress` is given), so the runtime's progress reports move the
   * notification. Cancellation throws vscode.CancellationError; another failure is logged and
   * shown when `failure` is given (then thrown as ReportedError), else thrown as it is.
   */
  async request<P, R>(type: RequestType<P, R, void>, params: P | ((s: Settings, workDoneToken: string | undefined) => P), options: RequestOptions = {}): Promise<R> {
    // RequestParam<P> (P, or undefined for null params) cannot be named for a generic P; P is what the type declares.
    const build = (token: string | undefined): RequestParam<P> =>
      (typeof params === 'function' ? (params as (s: Settings, t: string | undefined) => P)(this.settings(), token) : params) as RequestParam<P>;
    try {
      if (this.availability === 'idle' || this.availability === 'starting') await this.ensureStarted();
      const client = this.running;
      if (!options.progress) return await client.sendRequest(type, build(undefined));
      return await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: options.progress, cancellable: options.cancellable ?? false },
        async (progress, token) => {
          const workDoneToken = `attention-${randomBytes(6).toString('hex')}`;
          let last = 0;
          const sub = client.onProgress(WorkDoneProgress.type, workDoneToken, (p) => {
            if (p.kind === 'end') return;
            const pct = p.percentage ?? last;
            progress.report({ message: p.message, increment: Math.max(0, pct - last) });
            last = pct;
          });
          try {
            return await client.sendRequest(type, build(workDoneToken), token);
          } finally {
            sub.dispose();
          }
        },
      );
    } catch (e) {
      if (isCancellation(e)) throw e instanceof vscode.CancellationError ? e : new vscode.CancellationError();
      if (!options.failure) throw e;
      void showError(options.failure, e);
      throw new ReportedError(e);
    }
  }

  /** The running client, or a one-line error telling the user how to get one. */
  get running(): LanguageClient {
    if (!this.client || !this.client.isRunning()) throw new Error('the Attention runtime is not running; run "Attention: Restart Runtime"');
    return this.client;
  }

  async start(): Promise<void> {
    this.wanted = true;
    this.starting = this.startClient();
    try {
      await this.starting;
    } catch (e) {
      await this.setReady(false);
      throw e;
    } finally {
      this.starting = undefined;
    }
  }

  private async startClient(): Promise<void> {
    const serverModule = vscode.Uri.joinPath(this.extensionUri, 'dist', 'server.js').fsPath;
    // Large allocations on huge pages (Linux): a capture's segments otherwise fault their
    // [heads, n, n] tensors in 4 KiB at a time (common/mallocTunables.ts).
    const env = withHugePages(process.env);
    const serverOptions: ServerOptions = {
      run: { module: serverModule, transport: TransportKind.ipc, options: { env } },
      debug: { module: serverModule, transport: TransportKind.ipc, options: { env, execArgv: ['--nolazy', '--inspect=6019'] } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [{ scheme: 'file', pattern: '**/config.json' }],
      // The runtime reads attentionInspector.estimateDtype for its hovers (didChangeConfiguration).
      synchronize: { configurationSection: 'attentionInspector' },
      outputChannel: log(),
      errorHandler: {
        error: () => ({ action: ErrorAction.Continue, handled: true }),
        closed: () => {
          // A client we already replaced or are stopping is not a crash.
          if (client === this.client) this.onUnexpectedExit();
          return { action: CloseAction.DoNotRestart, handled: true };
        },
      },
    };
    const client = new LanguageClient('attentionInspector', 'Attention Inspector Runtime', serverOptions, clientOptions);
    this.client = client;
    this.statusBar.set('starting');
    // The runtime reports its own failed requests, so it is up: a warning that recovers.
    client.onNotification(RuntimeStatusNotification.type, (p) => (p.state === 'error' ? this.statusBar.failed(p.message) : this.statusBar.set(p.state, p.message, p.executionProvider)));
    client.onNotification(LayerNotification.type, (p) => this.layerEmitter.fire(p));
    client.onNotification(CaptureStartedNotification.type, (p) => this.startedEmitter.fire(p));
    await client.start();
    this.backoff.started(Date.now());
    this.stopping = false;
    this.model = undefined;
    log().info(`runtime started (${serverModule})`);
    this.statusBar.set('idle');
    await this.setReady(true);
  }

  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const client = this.client;
    this.client = undefined;
    await this.setReady(false);
    if (!client) return;
    this.stopping = true;
    try {
      if (client.needsStop()) await client.stop(STOP_TIMEOUT_MS);
    } catch (e) {
      log().warn(`runtime did not stop cleanly: ${e instanceof Error ? e.message : String(e)}`);
    } finally {
      await client.dispose(STOP_TIMEOUT_MS).catch(() => undefined);
      this.stopping = false;
    }
    this.statusBar.set('stopped');
  }

  async restart(): Promise<void> {
    this.backoff.reset();
    await this.stop();
    await this.start();
  }

  private onUnexpectedExit(): void {
    if (this.stopping) return;
    void this.setReady(false);
    this.model = undefined;
    const delay = this.backoff.exited(Date.now());
    if (delay === undefined) {
      this.statusBar.set('stopped', 'the runtime keeps exiting');
      log().error(`runtime exited ${MAX_CRASH_RESTARTS} times in a row; not restarting it again`);
      void vscode.window
        .showErrorMessage('The Attention runtime keeps exiting and was not restarted.', 'Restart Runtime', 'Show Logs')
        .then((a) => {
          if (a === 'Restart Runtime') void vscode.commands.executeCommand('attentionInspector.restartRuntime');
          if (a === 'Show Logs') log().show(true);
        });
      return;
    }
    this.statusBar.set('stopped', `restarting in ${delay / 1000} s`);
    log().warn(`runtime exited unexpectedly; restart ${this.backoff.attempts} of ${MAX_CRASH_RESTARTS} in ${delay} ms`);
    void vscode.window.showWarningMessage(`The Attention runtime stopped unexpectedly; restarting it in ${delay / 1000} s.`, 'Show Logs').then((a) => {
      if (a === 'Show Logs') log().show(true);
    });
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void (async () => {
        const old = this.client;
        this.client = undefined;
        await old?.dispose(STOP_TIMEOUT_MS).catch(() => undefined);
        // A start that fails by the process exiting comes back through closed() and the backoff.
        await this.start().catch((e) => {
          log().error(`runtime restart failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
          this.statusBar.set('error', 'the runtime did not restart; run "Attention: Restart Runtime"');
        });
      })();
    }, delay);
  }

  private async setReady(ready: boolean): Promise<void> {
    this.readyEmitter.fire(ready);
    await vscode.commands.executeCommand('setContext', READY_KEY, ready);
    await vscode.commands.executeCommand('setContext', DOWN_KEY, !ready);
  }

  dispose(): void {
    clearTimeout(this.restartTimer);
    void this.stop();
    this.layerEmitter.dispose();
    this.startedEmitter.dispose();
    this.readyEmitter.dispose();
  }
}
