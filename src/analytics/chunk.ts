import { emptyColumns, type EventColumns } from './columns.ts';
import type { VerificationEvent } from './types.ts';

/** Events per chunk, at most: a chunk is also the part in which a batch travels to the writer thread. */
export const CHUNK_EVENTS = 2_000;

// String fields kept as references into the chunk's table of distinct strings, in this order.
const REFS = 7;
const [WORKSPACE, KEYSPACE, KEY, IDENTITY, EXTERNAL, OUTCOME, NODE] = [0, 1, 2, 3, 4, 5, 6];
const NO_TAGS: string[] = [];

/** A chunk as it crosses to another thread: typed arrays and one array of distinct strings. */
export interface SerializedChunk {
  count: number;
  strings: string[];
  numbers: Float64Array;
  refs: Uint32Array;
  tagCounts: Uint8Array;
  tagRefs: Uint32Array;
  requestIds: Uint8Array;
  requestIdEnds: Uint32Array;
}

/**
 * Buffered verification events, encoded as they are recorded: numbers in typed arrays, ids and names as
 * references into a table of the chunk's distinct strings (a key's ids are the same strings event after
 * event), request ids as bytes. Recording then leaves no object per event on the heap: events wait up to a
 * flush interval, and as objects they outlived the young generation, so every one was copied by the
 * garbage collector, promoted, and later collected in the old generation, work that grew with the rate of
 * verifications.
 */
export class EventChunk {
  count = 0;
  private readonly strings: string[] = [];
  private readonly stringIndex = new Map<string, number>();
  // time, latency, spentCredits per event.
  private readonly numbers: Float64Array;
  private readonly refs: Uint32Array;
  private readonly tagCounts: Uint8Array;
  private tagRefs = new Uint32Array(64);
  private tagTotal = 0;
  private requestIds: Buffer;
  private readonly requestIdEnds: Uint32Array;

  constructor(readonly capacity = CHUNK_EVENTS) {
    this.numbers = new Float64Array(capacity * 3);
    this.refs = new Uint32Array(capacity * REFS);
    this.tagCounts = new Uint8Array(capacity);
    this.requestIds = Buffer.allocUnsafeSlow(capacity * 24);
    this.requestIdEnds = new Uint32Array(capacity);
  }

  get full(): boolean {
    return this.count >= this.capacity;
  }

  // The string each field referred to last, and its reference: the workspace, keyspace, outcome and node
  // mostly repeat from one event to the next, and a comparison costs less than a lookup.
  private readonly lastString: (string | undefined)[] = new Array<string | undefined>(REFS).fill(undefined);
  private readonly lastRef = new Uint32Array(REFS);

  private refOf(field: number, s: string): number {
    if (this.lastString[field] === s) return this.lastRef[field];
    const i = this.ref(s);
    this.lastString[field] = s;
    this.lastRef[field] = i;
    return i;
  }

  private ref(s: string): number {
    let i = this.stringIndex.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.stringIndex.set(s, i);
    }
    return i;
  }

  /** Appends an event; the caller checks `full` first. */
  append(e: VerificationEvent): void {
    const n = this.count;
    this.numbers[n * 3] = e.time;
    this.numbers[n * 3 + 1] = e.latency;
    this.numbers[n * 3 + 2] = e.spentCredits;
    const r = n * REFS;
    this.refs[r + WORKSPACE] = this.refOf(WORKSPACE, e.workspaceId);
    this.refs[r + KEYSPACE] = this.refOf(KEYSPACE, e.keySpaceId);
    this.refs[r + KEY] = this.refOf(KEY, e.keyId);
    this.refs[r + IDENTITY] = this.refOf(IDENTITY, e.identityId);
    this.refs[r + EXTERNAL] = this.refOf(EXTERNAL, e.externalId);
    this.refs[r + OUTCOME] = this.refOf(OUTCOME, e.outcome);
    this.refs[r + NODE] = this.refOf(NODE, e.nodeId);
    const tags = e.tags;
    // The API accepts at most 20 tags per verification.
    const tagCount = Math.min(tags.length, 255);
    this.tagCounts[n] = tagCount;
    if (tagCount > 0) {
      if (this.tagTotal + tagCount > this.tagRefs.length) {
        const grown = new Uint32Array(Math.max(this.tagRefs.length * 2, this.tagTotal + tagCount));
        grown.set(this.tagRefs);
        this.tagRefs = grown;
      }
      for (let t = 0; t < tagCount; t++) this.tagRefs[this.tagTotal++] = this.ref(tags[t]);
    }
    this.requestIdEnds[n] = this.writeRequestId(e.requestId, n === 0 ? 0 : this.requestIdEnds[n - 1]);
    this.count = n + 1;
  }

  /** Writes the id as UTF-8 at `start`; returns where it ends. */
  private writeRequestId(id: string, start: number): number {
    // Ids this server makes are ASCII: copied by a plain loop, which costs less than a call into the
    // native encoder for twenty bytes.
    if (start + id.length <= this.requestIds.length) {
      const bytes = this.requestIds;
      let i = 0;
      for (; i < id.length; i++) {
        const code = id.charCodeAt(i);
        if (code > 0x7f) break;
        bytes[start + i] = code;
      }
      if (i === id.length) return start + i;
    }
    const needed = start + Buffer.byteLength(id);
    if (needed > this.requestIds.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.requestIds.length * 2, needed));
      this.requestIds.copy(grown, 0, 0, start);
      this.requestIds = grown;
    }
    return start + this.requestIds.write(id, start, 'utf8');
  }

  /** Drops the newest events beyond `count`. */
  truncate(count: number): void {
    if (count >= this.count) return;
    let tags = 0;
    for (let i = 0; i < count; i++) tags += this.tagCounts[i];
    this.tagTotal = tags;
    this.count = count;
  }

  /** The chunk's data, trimmed to its events, for posting to another thread (the arrays are copied). */
  serialize(): SerializedChunk {
    const n = this.count;
    return {
      count: n,
      strings: this.strings,
      numbers: this.numbers.subarray(0, n * 3),
      refs: this.refs.subarray(0, n * REFS),
      tagCounts: this.tagCounts.subarray(0, n),
      tagRefs: this.tagRefs.subarray(0, this.tagTotal),
      requestIds: this.requestIds.subarray(0, n === 0 ? 0 : this.requestIdEnds[n - 1]),
      requestIdEnds: this.requestIdEnds.subarray(0, n),
    };
  }

  toColumns(): EventColumns {
    return decodeChunk(this.serialize());
  }
}

/** The events of a chunk, one array per field. */
export function decodeChunk(s: SerializedChunk): EventColumns {
  return decodeChunks([s]);
}

/** The events of chunks, in order, one array per field: decoded straight into the batch's arrays. */
export function decodeChunks(parts: SerializedChunk[]): EventColumns {
  const c = emptyColumns(parts.reduce((n, s) => n + s.count, 0));
  // Events with one tag share one array per tag: most verifications send the same tag or two, and an array
  // per event was garbage for the writer thread. Nothing downstream changes a tags array.
  const single = new Map<string, string[]>();
  let at = 0;
  for (const s of parts) {
    const { count: n, strings, numbers, refs, tagCounts, tagRefs, requestIdEnds } = s;
    // Structured cloning delivers a plain Uint8Array; a Buffer view of it decodes UTF-8 natively.
    const ids = Buffer.from(s.requestIds.buffer, s.requestIds.byteOffset, s.requestIds.byteLength);
    let tag = 0;
    for (let i = 0; i < n; i++, at++) {
      c.requestId[at] = ids.toString('utf8', i === 0 ? 0 : requestIdEnds[i - 1], requestIdEnds[i]);
      c.time[at] = numbers[i * 3];
      c.latency[at] = numbers[i * 3 + 1];
      c.spentCredits[at] = numbers[i * 3 + 2];
      const r = i * REFS;
      c.workspaceId[at] = strings[refs[r + WORKSPACE]];
      c.keySpaceId[at] = strings[refs[r + KEYSPACE]];
      c.keyId[at] = strings[refs[r + KEY]];
      c.identityId[at] = strings[refs[r + IDENTITY]];
      c.externalId[at] = strings[refs[r + EXTERNAL]];
      c.outcome[at] = strings[refs[r + OUTCOME]];
      c.nodeId[at] = strings[refs[r + NODE]];
      const count = tagCounts[i];
      if (count === 0) c.tags[at] = NO_TAGS;
      else if (count === 1) {
        const value = strings[tagRefs[tag++]];
        let tags = single.get(value);
        if (tags === undefined) single.set(value, (tags = [value]));
        c.tags[at] = tags;
      } else {
        const tags = new Array<string>(count);
        for (let t = 0; t < count; t++) tags[t] = strings[tagRefs[tag++]];
        c.tags[at] = tags;
      }
    }
  }
  return c;
}

/** The events of a batch, given as the chunks it was buffered in, one array per field. */
export function decodeBatch(batch: EventChunk[]): EventColumns {
  return decodeChunks(batch.map((chunk) => chunk.serialize()));
}

/** Events encoded into chunks of at most `perChunk`. */
export function encodeEvents(events: VerificationEvent[], perChunk = CHUNK_EVENTS): EventChunk[] {
  const chunks: EventChunk[] = [];
  for (const e of events) {
    let last = chunks[chunks.length - 1];
    if (last === undefined || last.full) chunks.push((last = new EventChunk(perChunk)));
    last.append(e);
  }
  return chunks;
}
