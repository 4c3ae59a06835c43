import { crc32, deflateSync } from "node:zlib";

// A merchant's logo for tests that upload one: a real PNG (96×96, RGBA) drawn pixel by pixel,
// a teal rounded square with a white teacup, so screenshots show a logo, not a dot.

const SIZE = 96;

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function pixel(x: number, y: number): [number, number, number, number] {
  const r = 22;
  const cx = Math.min(Math.max(x, r), SIZE - 1 - r);
  const cy = Math.min(Math.max(y, r), SIZE - 1 - r);
  if ((x - cx) ** 2 + (y - cy) ** 2 > r * r) return [0, 0, 0, 0]; // outside the rounded corners
  const cup = ((x - 44) / 24) ** 2 + ((y - 46) / 20) ** 2 <= 1 && y >= 40;
  const rim = y >= 34 && y < 40 && x >= 20 && x <= 68;
  const handle =
    ((x - 70) / 9) ** 2 + ((y - 50) / 9) ** 2 <= 1 && ((x - 70) / 5) ** 2 + ((y - 50) / 5) ** 2 > 1;
  const saucer = y >= 68 && y < 73 && x >= 18 && x <= 74;
  return cup || rim || handle || saucer ? [255, 255, 255, 255] : [15, 118, 110, 255];
}

/** The PNG's bytes. */
export function logoPng(): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(SIZE, 0);
  header.writeUInt32BE(SIZE, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, no interlace
  const rows: number[] = [];
  for (let y = 0; y < SIZE; y++) {
    rows.push(0); // filter: none
    for (let x = 0; x < SIZE; x++) rows.push(...pixel(x, y));
  }
  return Buffer.concat([
    Buffer.from("89504e470d0a1a0a", "hex"),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.from(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** As Studio's file picker sends it. */
export const logoDataUrl = () => `data:image/png;base64,${logoPng().toString("base64")}`;
