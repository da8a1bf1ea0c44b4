/** What the runtime's thread and the tokenizer worker say to each other. */
export interface WorkerSetup {
  /** Texts of tokenizer.json and tokenizer_config.json (undefined: none). */
  json: string;
  config?: string;
}

export interface WorkerRequest {
  id: number;
  text: string;
}

export type WorkerReply =
  | { id: number; ids: number[]; tokens: string[] }
  /** kind 'file': the file is wrong (message says what); 'fails': the library threw on this text. */
  | { id: number; error: string; kind: 'file' | 'fails' };
