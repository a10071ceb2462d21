// Kubernetes resource quantities ("500m", "1Gi", "2e3") as plain numbers: cores for CPU, bytes for
// memory, for env resourceFieldRefs and memory limits. The one parser is the builder's.
import { quantityNanos } from '@pgfn/builder';

/** The numeric value of a quantity; throws with the offending text when it is not one. */
export function parseQuantity(text: string): number {
  return Number(quantityNanos(text)) / 1e9;
}
