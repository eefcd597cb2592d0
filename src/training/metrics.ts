/** Classification metrics over predicted class probabilities (`n × classes`, row-major). */

const EPSILON = 1e-15;

export interface Evaluation {
  /** Mean cross-entropy. */
  loss: number;
  accuracy: number;
}

/** Log-loss and accuracy (ties go to the lowest class). */
export function evaluateProbabilities(
  proba: Float64Array,
  y: Uint8Array,
  n: number,
  classes: number,
): Evaluation {
  let loss = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let best = 0;
    let bestP = proba[row] as number;
    for (let k = 1; k < classes; k++) {
      const p = proba[row + k] as number;
      if (p > bestP) {
        bestP = p;
        best = k;
      }
    }
    const label = y[i] as number;
    if (best === label) correct++;
    loss -= Math.log(Math.max(proba[row + label] as number, EPSILON));
  }
  return { loss: n > 0 ? loss / n : 0, accuracy: n > 0 ? correct / n : 0 };
}

/** Logistic function. */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/**
 * Converts `outputs` logits at `from[offset..]` into `classes` probabilities at `to[at..]`: one
 * output is a binary logit (sigmoid), more are softmax logits.
 */
export function logitsToProbabilities(
  from: Float64Array,
  offset: number,
  outputs: number,
  to: Float64Array,
  at: number,
): void {
  if (outputs === 1) {
    const p = sigmoid(from[offset] as number);
    to[at] = 1 - p;
    to[at + 1] = p;
    return;
  }
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < outputs; k++) max = Math.max(max, from[offset + k] as number);
  let sum = 0;
  for (let k = 0; k < outputs; k++) {
    const e = Math.exp((from[offset + k] as number) - max);
    to[at + k] = e;
    sum += e;
  }
  for (let k = 0; k < outputs; k++) to[at + k] = (to[at + k] as number) / sum;
}

/** Model outputs for `classes` classes: one logit for two classes, one per class beyond. */
export function outputsFor(classes: number): number {
  return classes === 2 ? 1 : classes;
}
