/**
 * File names the export buttons suggest: model, text, then what is shown (layer and head), so a
 * folder of exports says where each came from. Sanitised to letters, digits, '.', '_' and '-'
 * (safe on every file system and in a shell); the model's "org/name" becomes "org_name".
 */

/** A name part: unsafe characters become '-', runs collapse, at most `max` characters. */
export function namePart(s: string, max: number): string {
  const clean = s
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\//g, '_')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
  return clean.slice(0, max).replace(/[-.]+$/, '');
}

/** e.g. exportName('org/tiny-gpt', 'The cat sat.', 'L0-H3') = 'org_tiny-gpt_The-cat-sat_L0-H3'. */
export function exportName(model: string | undefined, text: string | undefined, what: string): string {
  const parts = [namePart(model ?? '', 48), namePart((text ?? '').split(/\s+/).slice(0, 6).join(' '), 32), namePart(what, 48)];
  return parts.filter(Boolean).join('_') || 'attention';
}
