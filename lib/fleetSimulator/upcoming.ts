/**
 * Requests not yet arrived, as columns of typed arrays sorted by arrival: a day's trace is a few
 * megabytes rather than hundreds of thousands of objects, and, being immutable (frozen, replaced
 * rather than changed), it is shared by every fork of the simulation (fork.ts).
 */

export interface Upcoming {
  readonly length: number;
  readonly id: Float64Array;
  readonly arrival: Float64Array;
  readonly inputTokens: Float64Array;
  readonly outputTokens: Float64Array;
}

/** Columns for `length` rows, to be filled, then frozen, by the caller. */
export function allocateUpcoming(length: number): Upcoming {
  return {
    length,
    id: new Float64Array(length),
    arrival: new Float64Array(length),
    inputTokens: new Float64Array(length),
    outputTokens: new Float64Array(length),
  };
}

export const NO_UPCOMING: Upcoming = Object.freeze(allocateUpcoming(0));

/** Rows [from, length) of `list`. */
export function rest(list: Upcoming, from: number): Upcoming {
  if (from === 0) return list;
  return Object.freeze({
    length: list.length - from,
    id: list.id.slice(from),
    arrival: list.arrival.slice(from),
    inputTokens: list.inputTokens.slice(from),
    outputTokens: list.outputTokens.slice(from),
  });
}

/**
 * Stable merge of rows [from, length) of `list` with `incoming` (itself sorted by arrival); on
 * equal arrivals the rows already there go first.
 */
export function mergeUpcoming(list: Upcoming, from: number, incoming: Upcoming): Upcoming {
  if (incoming.length === 0) return rest(list, from);
  if (from >= list.length) return Object.freeze(incoming);
  const out = allocateUpcoming(list.length - from + incoming.length);
  let i = from;
  let j = 0;
  let k = 0;
  const copy = (src: Upcoming, row: number) => {
    out.id[k] = src.id[row]!;
    out.arrival[k] = src.arrival[row]!;
    out.inputTokens[k] = src.inputTokens[row]!;
    out.outputTokens[k] = src.outputTokens[row]!;
    k++;
  };
  while (i < list.length && j < incoming.length) {
    if (incoming.arrival[j]! < list.arrival[i]!) copy(incoming, j++);
    else copy(list, i++);
  }
  while (i < list.length) copy(list, i++);
  while (j < incoming.length) copy(incoming, j++);
  return Object.freeze(out);
}
