/**
 * Sample texts written only with the tiny-gpt vocabulary (so nothing becomes [UNK]): a short
 * one with a repeated phrase for the induction head, and a long one for long-input demos.
 */
import { mulberry32 } from '../../server/variants/rng';

export const INDUCTION_TEXT =
  'The old king saw a little black cat by the river. ' +
  'Then the queen came from the city with two dogs, and the people looked at the sun. ' +
  'The old king saw a little black cat by the river. ' +
  'She said: "This is a good day, and the old king saw a little black cat by the river!"\n';


const SUBJECTS = ['the king', 'the queen', 'a man', 'the old woman', 'a child', 'the cat', 'a black dog', 'the people', 'a little bird', 'they', 'she', 'he', 'we'];
const VERBS = ['saw', 'found', 'took', 'gave', 'looked at', 'knew', 'made', 'said', 'came to', 'went to', 'ran to', 'sat by'];
const OBJECTS = ['the river', 'a red book', 'the old house', 'the sea', 'a big tree', 'the moon', 'a white star', 'the city', 'the long road', 'a green tree', 'the world', 'a new name', 'the little house', 'the blue sea'];
const TAILS = ['', '', ' at night', ' after one day', ' in the city', ' with the dog', ' by the sea', ' from the road', ' for a long time', ' when the sun was white'];
const JOINS = ['. ', '. ', '. ', ', and ', ', but ', '; then ', '! '];

/** A few thousand words of simple sentences; phrases recur, as in real text. */
export function longText(words = 3000, seed = 7): string {
  const rand = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)];
  let out = '';
  let count = 0;
  let paragraph = 0;
  while (count < words) {
    let sentence = `${pick(SUBJECTS)} ${pick(VERBS)} ${pick(OBJECTS)}${pick(TAILS)}`;
    if (out === '' || /[.!]\s+$/.test(out)) sentence = sentence[0].toUpperCase() + sentence.slice(1);
    count += sentence.split(' ').length;
    out += sentence;
    if (++paragraph % 12 === 0) {
      out += '.\n\n';
    } else {
      out += count < words ? pick(JOINS) : '.';
    }
  }
  return out.trimEnd() + '\n';
}
