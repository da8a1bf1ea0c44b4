/**
 * The tiny-gpt sample's vocabulary and its Hugging Face tokenizer.json / tokenizer_config.json.
 * The vocabulary order is the model's token order: the embedding and unembedding rows are laid
 * out by these ids, so changing the list changes the model.
 */

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[BOS]'] as const;
export const PAD_ID = 0;
export const UNK_ID = 1;
export const BOS_ID = 2;

export const PUNCTUATION = ['.', ',', '!', '?', ';', ':', "'", '"', '(', ')', '-'];

/** About a hundred common English words; every sample text is written with these only. */
export const WORDS = [
  'the', 'a', 'an', 'and', 'or', 'but', 'of', 'to', 'in', 'on',
  'at', 'with', 'from', 'by', 'for', 'is', 'was', 'are', 'were', 'be',
  'has', 'had', 'have', 'it', 'he', 'she', 'they', 'we', 'you', 'i',
  'this', 'that', 'there', 'here', 'not', 'no', 'yes', 'all', 'one', 'two',
  'three', 'some', 'many', 'time', 'day', 'night', 'year', 'people', 'man', 'woman',
  'child', 'cat', 'dog', 'bird', 'tree', 'house', 'city', 'road', 'river', 'sea',
  'sun', 'moon', 'star', 'book', 'word', 'name', 'world', 'king', 'queen', 'old',
  'new', 'big', 'small', 'good', 'red', 'blue', 'green', 'white', 'black', 'little',
  'long', 'saw', 'said', 'went', 'came', 'made', 'found', 'took', 'gave', 'ran',
  'sat', 'looked', 'knew', 'see', 'go', 'then', 'when', 'where', 'very', 'after',
];

/** WordPiece continuations so plurals and simple inflections are not [UNK]. */
export const SUFFIXES = ['##s', '##ed', '##ing', '##ly'];

export const VOCAB: readonly string[] = [...SPECIAL_TOKENS, ...PUNCTUATION, ...WORDS, ...SUFFIXES];

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/** tokenizer.json in the format the Rust `tokenizers` crate writes (keys in its order). */
export function tokenizerJson(): object {
  const vocab: Record<string, number> = {};
  VOCAB.forEach((t, i) => (vocab[t] = i));
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map((t, i) => addedToken(i, t)),
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[BOS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[BOS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '[BOS]': { id: '[BOS]', ids: [BOS_ID], tokens: ['[BOS]'] } },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** @huggingface/tokenizers (and transformers) read this next to tokenizer.json. */
export function tokenizerConfigJson(): object {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: 4096,
    do_lower_case: true,
    bos_token: '[BOS]',
    unk_token: '[UNK]',
    pad_token: '[PAD]',
    clean_up_tokenization_spaces: true,
  };
}
