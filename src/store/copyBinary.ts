/**
 * Rows in PostgreSQL's binary COPY format, written byte by byte into one growing buffer: a signature, a
 * flags word and an empty header extension; then per row its field count and per field its length and
 * bytes (big-endian); -1 where a field count would be ends the data. Numbers go as their bytes, so neither
 * side formats or parses digits (a latency such as 0.04231 was seventeen of them as text).
 */
export class BinaryCopy {
  private out: Buffer;
  private view: DataView;
  private at: number;

  constructor(expectedBytes = 4096) {
    this.out = Buffer.allocUnsafe(Math.max(64, expectedBytes + SIGNATURE.length + 10));
    this.view = new DataView(this.out.buffer, this.out.byteOffset, this.out.byteLength);
    SIGNATURE.copy(this.out, 0);
    this.view.setInt32(SIGNATURE.length, 0);
    this.view.setInt32(SIGNATURE.length + 4, 0);
    this.at = SIGNATURE.length + 8;
  }

  /** Room for `bytes` more past the row being written. */
  private ensure(bytes: number): void {
    if (this.at + bytes <= this.out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.at + bytes));
    // All of it: a field being written (an array's elements) may already reach past `at`.
    this.out.copy(grown, 0, 0, this.out.length);
    this.out = grown;
    this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
  }

  /** Starts a row of `fields` fields. */
  row(fields: number): void {
    this.ensure(2);
    this.view.setInt16(this.at, fields);
    this.at += 2;
  }

  /** A bigint field; `value` must be a safe integer. */
  int8(value: number): void {
    this.ensure(12);
    const high = Math.floor(value / TWO_32);
    this.view.setInt32(this.at, 8);
    this.view.setInt32(this.at + 4, high);
    this.view.setUint32(this.at + 8, value - high * TWO_32);
    this.at += 12;
  }

  /** A smallint field. */
  int2(value: number): void {
    this.ensure(6);
    this.view.setInt32(this.at, 2);
    this.view.setInt16(this.at + 4, value);
    this.at += 6;
  }

  /** A double precision field. */
  float8(value: number): void {
    this.ensure(12);
    this.view.setInt32(this.at, 8);
    this.view.setFloat64(this.at + 4, value);
    this.at += 12;
  }

  /** A field whose binary form is `bytes` as they are (a text's UTF-8, a bigint's eight bytes). */
  bytes(bytes: Uint8Array): void {
    this.ensure(4 + bytes.length);
    this.view.setInt32(this.at, bytes.length);
    this.out.set(bytes, this.at + 4);
    this.at += 4 + bytes.length;
  }

  /** A text field. */
  text(value: string): void {
    this.at = this.writeText(value, this.at);
  }

  /** A text[] field: one dimension from 1, no nulls (an empty array has no dimension). */
  textArray(values: string[]): void {
    const start = this.arrayStart(TEXT_OID, values.length);
    let at = this.at;
    for (const value of values) at = this.writeText(value, at);
    this.arrayEnd(start, at);
  }

  /** A text[] field of `values[at[0]], values[at[1]], ...`. */
  textArrayAt(values: ArrayLike<string>, at: ArrayLike<number>): void {
    const start = this.arrayStart(TEXT_OID, at.length);
    let end = this.at;
    for (let k = 0; k < at.length; k++) end = this.writeText(values[at[k]], end);
    this.arrayEnd(start, end);
  }

  /** A bigint[] field of `values[at[0]], values[at[1]], ...`; each must be a safe integer. */
  int8ArrayAt(values: ArrayLike<number>, at: ArrayLike<number>): void {
    const start = this.arrayStart(INT8_OID, at.length);
    this.ensure(at.length * 12);
    const view = this.view;
    let end = this.at;
    for (let k = 0; k < at.length; k++) {
      const value = values[at[k]];
      const high = Math.floor(value / TWO_32);
      view.setInt32(end, 8);
      view.setInt32(end + 4, high);
      view.setUint32(end + 8, value - high * TWO_32);
      end += 12;
    }
    this.arrayEnd(start, end);
  }

  /** A double precision[] field of `values[at[0]], values[at[1]], ...`. */
  float8ArrayAt(values: ArrayLike<number>, at: ArrayLike<number>): void {
    const start = this.arrayStart(FLOAT8_OID, at.length);
    this.ensure(at.length * 12);
    const view = this.view;
    let end = this.at;
    for (let k = 0; k < at.length; k++) {
      view.setInt32(end, 8);
      view.setFloat64(end + 4, values[at[k]]);
      end += 12;
    }
    this.arrayEnd(start, end);
  }

  /**
   * Writes an array field's header (its length is filled in by arrayEnd) and leaves `at` at its first
   * element; returns where the field starts.
   */
  private arrayStart(oid: number, count: number): number {
    const start = this.at;
    this.ensure(4 + 20);
    const view = this.view;
    view.setInt32(start + 4, count === 0 ? 0 : 1);
    view.setInt32(start + 8, 0);
    view.setInt32(start + 12, oid);
    this.at = start + 16;
    if (count > 0) {
      view.setInt32(start + 16, count);
      view.setInt32(start + 20, 1);
      this.at += 8;
    }
    return start;
  }

  private arrayEnd(start: number, end: number): void {
    this.view.setInt32(start, end - start - 4);
    this.at = end;
  }

  /** The COPY data, ended. */
  finish(): Buffer {
    this.ensure(2);
    this.view.setInt16(this.at, -1);
    return this.out.subarray(0, this.at + 2);
  }

  /** Writes `value` with its length at `at`; returns where it ends. Ids this server makes are ASCII, copied by a plain loop. */
  private writeText(value: string, at: number): number {
    const length = value.length;
    const offset = at - this.at;
    this.ensure(offset + 4 + length);
    at = this.at + offset;
    const out = this.out;
    let i = 0;
    for (; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code > 0x7f) break;
      out[at + 4 + i] = code;
    }
    if (i === length) {
      this.view.setInt32(at, length);
      return at + 4 + length;
    }
    const encoded = Buffer.from(value, 'utf8');
    this.ensure(offset + 4 + encoded.length);
    at = this.at + offset;
    this.out.set(encoded, at + 4);
    this.view.setInt32(at, encoded.length);
    return at + 4 + encoded.length;
  }
}

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const TWO_32 = 4_294_967_296;
const TEXT_OID = 25;
const INT8_OID = 20;
const FLOAT8_OID = 701;
