/** Reading the files of a zip archive (the functions' deployment packages), with node:zlib only. */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

interface CentralEntry {
  readonly name: string;
  readonly method: number;
  readonly compressed: number;
  /** offset of the entry's local header */
  readonly local: number;
}

/** The archive's bytes and its central directory's entries, in order. */
function centralDirectory(path: string): { buf: Buffer; entries: CentralEntry[] } {
  const buf = readFileSync(path);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65_557); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error(`${path}: not a zip archive`);
  const entries: CentralEntry[] = [];
  let at = buf.readUInt32LE(eocd + 16);
  for (let i = 0, count = buf.readUInt16LE(eocd + 10); i < count; i++) {
    if (buf.readUInt32LE(at) !== 0x02014b50) throw new Error(`${path}: bad central directory`);
    const nameLength = buf.readUInt16LE(at + 28);
    const extraLength = buf.readUInt16LE(at + 30);
    const commentLength = buf.readUInt16LE(at + 32);
    entries.push({
      name: buf.toString('utf8', at + 46, at + 46 + nameLength),
      method: buf.readUInt16LE(at + 10),
      compressed: buf.readUInt32LE(at + 20),
      local: buf.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return { buf, entries };
}

/** The names of the archive's entries (folders too), from its central directory. */
export function zipEntries(path: string): string[] {
  return centralDirectory(path).entries.map((e) => e.name);
}

/** Every file of the archive: name → contents. Stored (0) and deflated (8) entries. */
export function readZip(path: string): Map<string, Buffer> {
  const { buf, entries } = centralDirectory(path);
  const files = new Map<string, Buffer>();
  for (const { name, method, compressed, local } of entries) {
    if (name.endsWith('/')) continue;
    // the local header has its own name and extra field lengths
    const dataAt = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(dataAt, dataAt + compressed);
    if (method === 0) files.set(name, Buffer.from(data));
    else if (method === 8) files.set(name, inflateRawSync(data));
    else throw new Error(`${path}: ${name}: compression method ${method} not supported`);
  }
  return files;
}
