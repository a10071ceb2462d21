// SASLprep (RFC 4013, a profile of stringprep RFC 3454) as Postgres applies it to SCRAM passwords
// (src/common/saslprep.c): map, NFKC-normalise, and if the result holds a prohibited or unassigned
// character, use the password's raw bytes instead. Postgres' tables are Unicode 3.2; here the
// prohibited and unassigned checks use this runtime's Unicode tables, which only differ for
// characters assigned after 3.2 in a password that normalisation also changes (see saslprep()).

/**
 * Characters stringprep B.1 maps to nothing (soft hyphen, zero-width joiners, variation selectors…),
 * as code point ranges: several are combining marks, which a regexp character class would misread.
 */
const MAPPED_TO_NOTHING: readonly (readonly [number, number])[] = [
  [0x00ad, 0x00ad],
  [0x034f, 0x034f],
  [0x1806, 0x1806],
  [0x180b, 0x180d],
  [0x200b, 0x200d],
  [0x2060, 0x2060],
  [0xfe00, 0xfe0f],
  [0xfeff, 0xfeff],
];
/** Non-ASCII spaces (C.1.2) map to U+0020. */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
/** Prohibited output (C.1.2 … C.9) and unassigned code points, approximated by general categories. */
const PROHIBITED =
  /[\p{Cc}\p{Co}\p{Cs}\p{Cn}\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000\u200E\u200F\u202A-\u202E\u206A-\u206F\uFFF9-\uFFFD\u2FF0-\u2FFB\u{E0001}\u{E0020}-\u{E007F}]|\u0340|\u0341/u;
// JavaScript regexps know no Bidi_Class; letters of the right-to-left scripts stand in for RandALCat
// and every other letter for LCat.
const RTL_SCRIPT =
  /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}]/u;
const LETTER = /\p{L}/u;

/**
 * The bytes Postgres hashes for `password`: the SASLprep'ed string when that succeeds, else the
 * password as given. An all-ASCII password is always used as is (Postgres skips SASLprep for it).
 */
export function saslprep(password: string): string {
  if (/^\p{ASCII}*$/u.test(password)) return password;
  const mapped = withoutMappedToNothing(password).replace(NON_ASCII_SPACE, ' ').normalize('NFKC');
  if (mapped === '' || PROHIBITED.test(mapped) || !bidiOk(mapped)) return password;
  return mapped;
}

/** RFC 3454 section 6: a string with right-to-left characters must not mix in left-to-right ones. */
function bidiOk(text: string): boolean {
  const chars = [...text];
  const rtl = chars.map((c) => LETTER.test(c) && RTL_SCRIPT.test(c));
  if (!rtl.includes(true)) return true;
  if (chars.some((c, i) => LETTER.test(c) && !rtl[i])) return false;
  return rtl[0] === true && rtl[rtl.length - 1] === true;
}

function withoutMappedToNothing(s: string): string {
  return [...s]
    .filter((c) => !MAPPED_TO_NOTHING.some(([from, to]) => (c.codePointAt(0) ?? 0) >= from && (c.codePointAt(0) ?? 0) <= to))
    .join('');
}
