// Kubernetes resource quantities ("100m", "1.5Gi", "2e3"), parsed exactly enough to compare them the
// way apimachinery's resource.Quantity.Cmp does (values are rounded up to nano units, as Kubernetes does).

const QUANTITY = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;

const BINARY: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Readonly<Record<string, number>> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** True when `text` is a quantity Kubernetes accepts. */
export function isQuantity(text: string): boolean {
  return QUANTITY.test(text.trim());
}

/** The quantity in nano units (1 = 10^-9), rounded up; throws on text that is not a quantity. */
export function quantityNanos(text: string): bigint {
  const match = QUANTITY.exec(text.trim());
  if (match === null) throw new Error(`"${text}" is not a Kubernetes quantity (examples: 500m, 2, 1Gi, 1.5G)`);
  const number = match[1] ?? '0';
  const suffix = match[2] ?? '';
  const negative = number.startsWith('-');
  const digits = number.replace(/^[+-]/, '');
  const [whole = '', fraction = ''] = digits.split('.');
  const mantissa = BigInt(`${whole}${fraction}` || '0');
  let numerator = mantissa * 10n ** 9n;
  let denominator = 10n ** BigInt(fraction.length);
  const binary = BINARY[suffix];
  if (binary !== undefined) {
    numerator *= 1024n ** BigInt(binary);
  } else {
    const exponent = suffix === '' ? 0 : (DECIMAL[suffix] ?? Number(suffix.slice(1)));
    if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
    else denominator *= 10n ** BigInt(-exponent);
  }
  const rounded = (numerator + denominator - 1n) / denominator;
  return negative ? -rounded : rounded;
}

/** -1, 0 or 1 as `a` is smaller than, equal to or larger than `b`. */
export function compareQuantities(a: string, b: string): -1 | 0 | 1 {
  const x = quantityNanos(a);
  const y = quantityNanos(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** True for a quantity equal to zero. */
export function isZeroQuantity(text: string): boolean {
  return quantityNanos(text) === 0n;
}
