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
    const start = this.at;
    this.ensure(4 + 20);
    const view = this.view;
    view.setInt32(start + 4, values.length === 0 ? 0 : 1);
    view.setInt32(start + 8, 0);
    view.setInt32(start + 12, TEXT_OID);
    let at = start + 16;
    if (values.length > 0) {
      view.setInt32(at, values.length);
      view.setInt32(at + 4, 1);
      at += 8;
      for (const value of values) at = this.writeText(value, at);
    }
    this.view.setInt32(start, at - start - 4);
    this.at = at;
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
