// A minimal ustar writer and reader: enough to hand a few small files to Docker's putArchive and to
// read one back from its getArchive (no dependency).
import type { RunFile } from "./run-plan";

const BLOCK = 512;

function header(name: string, size: number, mode: number, uid: number, gid: number, type: "0" | "5"): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: name too long: ${name}`);
  h.write(name, 0, 100, "utf8");
  const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, "0") + "\0";
  h.write(octal(mode, 8), 100, 8, "ascii");
  h.write(octal(uid, 8), 108, 8, "ascii");
  h.write(octal(gid, 8), 116, 8, "ascii");
  h.write(octal(size, 12), 124, 12, "ascii");
  h.write(octal(Math.floor(Date.now() / 1000), 12), 136, 12, "ascii");
  h.write("        ", 148, 8, "ascii"); // checksum placeholder: spaces
  h.write(type, 156, 1, "ascii");
  h.write("ustar\0", 257, 6, "ascii");
  h.write("00", 263, 2, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, 8, "ascii");
  return h;
}

/** A tar archive with directory `dir` (mode 0700) holding `files`, all owned by uid:gid. */
export function tarFiles(dir: string, files: RunFile[], uid: number, gid: number): Buffer {
  const parts: Buffer[] = [header(`${dir}/`, 0, 0o700, uid, gid, "5")];
  for (const file of files) {
    parts.push(header(`${dir}/${file.name}`, file.content.length, file.mode, uid, gid, "0"), file.content);
    const pad = (BLOCK - (file.content.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad, 0));
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return Buffer.concat(parts);
}

/** The content of the first regular file in a tar archive (getArchive of one file), or null. */
export function firstTarFile(archive: Buffer): Buffer | null {
  for (let offset = 0; offset + BLOCK <= archive.length;) {
    const h = archive.subarray(offset, offset + BLOCK);
    if (h.every((byte) => byte === 0)) return null; // the end-of-archive blocks
    const size = parseInt(h.toString("ascii", 124, 136).replace(/\0.*$/, "").trim() || "0", 8);
    const type = String.fromCharCode(h[156]!);
    const start = offset + BLOCK;
    if (type === "0" || type === "\0") return archive.subarray(start, start + size);
    offset = start + Math.ceil(size / BLOCK) * BLOCK; // a directory, or pax/GNU extended headers
  }
  return null;
}
