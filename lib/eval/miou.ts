/**
 * Semantic-segmentation metrics from a confusion matrix, with mmsegmentation's conventions: pixels whose
 * label is the ignore label are skipped; per-class IoU = TP / (TP + FP + FN); a class that appears in neither
 * the predictions nor the labels has an undefined IoU (NaN) and is left out of the mean (mmseg's
 * `np.nanmean`); a class predicted but absent from the labels counts with IoU 0.
 * @module
 */

/** A `numClasses × numClasses` count matrix, row = true label, column = prediction. */
export interface ConfusionMatrix {
  numClasses: number;
  /** Row-major counts `[C, C]`: `counts[label · C + pred]`. */
  counts: Float64Array;
}

/** An empty confusion matrix. */
export function emptyConfusion(numClasses: number): ConfusionMatrix {
  if (!(Number.isInteger(numClasses) && numClasses > 0)) {
    throw new RangeError(`numClasses must be a positive integer, got ${numClasses}`);
  }
  return { numClasses, counts: new Float64Array(numClasses * numClasses) };
}

/**
 * Counts (label, prediction) pairs of the pixels whose label is not `ignoreLabel`, adding into `into` when
 * given. Labels other than the ignore label and predictions must lie in `0..numClasses-1`.
 */
export function confusionMatrix(
  pred: ArrayLike<number>,
  label: ArrayLike<number>,
  numClasses: number,
  ignoreLabel?: number,
  into?: ConfusionMatrix,
): ConfusionMatrix {
  if (pred.length !== label.length) {
    throw new RangeError(`${pred.length} predictions for ${label.length} labels`);
  }
  const conf = into ?? emptyConfusion(numClasses);
  if (conf.numClasses !== numClasses) {
    throw new RangeError(`accumulating ${numClasses} classes into a ${conf.numClasses}-class matrix`);
  }
  const C = numClasses;
  const counts = conf.counts;
  for (let i = 0; i < label.length; i++) {
    const t = label[i];
    if (t === ignoreLabel) continue;
    const p = pred[i];
    if (!(t >= 0 && t < C && Number.isInteger(t))) {
      throw new RangeError(`label ${t} at pixel ${i} is outside 0..${C - 1}`);
    }
    if (!(p >= 0 && p < C && Number.isInteger(p))) {
      throw new RangeError(`prediction ${p} at pixel ${i} is outside 0..${C - 1}`);
    }
    counts[t * C + p]++;
  }
  return conf;
}

/** Metrics of a confusion matrix (fractions in [0, 1]). */
export interface SegmentationMetrics {
  /** Mean IoU over the classes whose IoU is defined (NaN if none is). */
  miou: number;
  /** IoU per class; NaN for classes absent from both predictions and labels. */
  perClassIoU: number[];
  /** Correct pixels / counted pixels (NaN when no pixel was counted). */
  pixelAcc: number;
  /** Mean over classes present in the labels of per-class recall (mmseg's mAcc). */
  meanAcc: number;
  /** Classes that entered the mean IoU. */
  validClasses: number;
}

/** mIoU, per-class IoU, pixel accuracy and mean class accuracy of a confusion matrix. */
export function miou(conf: ConfusionMatrix): SegmentationMetrics {
  const C = conf.numClasses;
  const m = conf.counts;
  const perClassIoU: number[] = [];
  let iouSum = 0;
  let valid = 0;
  let accSum = 0;
  let accClasses = 0;
  let correct = 0;
  let total = 0;
  for (let c = 0; c < C; c++) {
    let labelled = 0; // TP + FN
    let predicted = 0; // TP + FP
    for (let j = 0; j < C; j++) {
      labelled += m[c * C + j];
      predicted += m[j * C + c];
    }
    const tp = m[c * C + c];
    const union = labelled + predicted - tp;
    const iou = union > 0 ? tp / union : NaN;
    perClassIoU.push(iou);
    if (union > 0) {
      iouSum += iou;
      valid++;
    }
    if (labelled > 0) {
      accSum += tp / labelled;
      accClasses++;
    }
    correct += tp;
    total += labelled;
  }
  return {
    miou: valid > 0 ? iouSum / valid : NaN,
    perClassIoU,
    pixelAcc: total > 0 ? correct / total : NaN,
    meanAcc: accClasses > 0 ? accSum / accClasses : NaN,
    validClasses: valid,
  };
}
