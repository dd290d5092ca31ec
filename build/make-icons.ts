// Draws Lookout's icons as PNG files with no dependency beyond Node (zlib for the PNG
// stream and its CRCs). The committed PNGs are this script's output; run it again after
// changing the drawing:
//
//   node build/make-icons.ts
//
// The mark is a lens: a ring with a dot in the middle (the dot is left out of the
// "idle" tray variants, shown while the server is not running).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

type Rgba = [number, number, number, number];
/** Coverage of one shape at a point in unit coordinates (0..1 across the image). */
type Shape = (x: number, y: number) => boolean;

const out = import.meta.dirname;

function png(width: number, height: number, pixels: Uint8Array): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(data.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), data])), 0);
    return Buffer.concat([head, data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 6; // RGBA
  const rows = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    rows[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(pixels.buffer, pixels.byteOffset + y * width * 4, width * 4).copy(rows, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', zlib.deflateSync(rows, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Paints layers back to front, each anti-aliased by 4×4 supersampling. */
function render(size: number, layers: { shape: Shape; color: (x: number, y: number) => Rgba }[]): Uint8Array {
  const pixels = new Uint8Array(size * size * 4);
  const n = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let [r, g, b, a] = [0, 0, 0, 0];
      for (const layer of layers) {
        let hits = 0;
        for (let sy = 0; sy < n; sy++) {
          for (let sx = 0; sx < n; sx++) {
            if (layer.shape((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size)) hits++;
          }
        }
        if (hits === 0) continue;
        const [cr, cg, cb, ca] = layer.color((px + 0.5) / size, (py + 0.5) / size);
        const alpha = (hits / (n * n)) * (ca / 255);
        // "over" compositing in straight alpha
        const outA = alpha + a * (1 - alpha);
        if (outA > 0) {
          r = (cr * alpha + r * a * (1 - alpha)) / outA;
          g = (cg * alpha + g * a * (1 - alpha)) / outA;
          b = (cb * alpha + b * a * (1 - alpha)) / outA;
        }
        a = outA;
      }
      const i = (py * size + px) * 4;
      pixels[i] = Math.round(r);
      pixels[i + 1] = Math.round(g);
      pixels[i + 2] = Math.round(b);
      pixels[i + 3] = Math.round(a * 255);
    }
  }
  return pixels;
}

const circle =
  (cx: number, cy: number, radius: number): Shape =>
  (x, y) =>
    (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2;
const ring =
  (cx: number, cy: number, outer: number, inner: number): Shape =>
  (x, y) => {
    const d = (x - cx) ** 2 + (y - cy) ** 2;
    return d <= outer ** 2 && d >= inner ** 2;
  };
const roundedSquare =
  (inset: number, radius: number): Shape =>
  (x, y) => {
    const lo = inset + radius;
    const hi = 1 - inset - radius;
    const dx = Math.max(lo - x, 0, x - hi);
    const dy = Math.max(lo - y, 0, y - hi);
    return x >= inset && x <= 1 - inset && y >= inset && y <= 1 - inset && dx * dx + dy * dy <= radius * radius;
  };
const solid = (color: Rgba) => () => color;

function write(name: string, size: number, pixels: Uint8Array): void {
  const file = path.join(out, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, png(size, size, pixels));
  process.stdout.write(`wrote build/${name} (${size}×${size})\n`);
}

// The application icon: the lens in white on a deep blue tile with a soft vertical gradient.
function appIcon(size: number): Uint8Array {
  const top: Rgba = [37, 99, 235, 255];
  const bottom: Rgba = [30, 58, 138, 255];
  const gradient = (_x: number, y: number): Rgba =>
    [0, 1, 2].map((i) => top[i]! + (bottom[i]! - top[i]!) * y).concat(255) as Rgba;
  return render(size, [
    { shape: roundedSquare(0.06, 0.2), color: gradient },
    { shape: ring(0.5, 0.5, 0.3, 0.22), color: solid([255, 255, 255, 255]) },
    { shape: circle(0.5, 0.5, 0.1), color: solid([255, 255, 255, 255]) },
    // A small glint on the ring, so the mark reads as a lens rather than a target.
    { shape: circle(0.64, 0.36, 0.035), color: solid([191, 219, 254, 255]) },
  ]);
}

// Tray glyphs fill most of their box: tray icons are tiny and need every pixel.
function trayGlyph(size: number, color: Rgba, active: boolean): Uint8Array {
  const layers = [{ shape: ring(0.5, 0.5, 0.44, 0.31), color: solid(color) }];
  if (active) layers.push({ shape: circle(0.5, 0.5, 0.17), color: solid(color) });
  return render(size, layers);
}

write('icon.png', 512, appIcon(512));

// Light panels get a dark glyph, dark panels a light one; macOS gets black template
// images it recolours itself. @2x files are picked up automatically on HiDPI screens.
const variants: { name: string; color: Rgba }[] = [
  { name: 'tray-light', color: [31, 41, 55, 255] },
  { name: 'tray-dark', color: [243, 244, 246, 255] },
];
for (const scale of [1, 2]) {
  const suffix = scale === 2 ? '@2x' : '';
  const size = 16 * scale;
  for (const { name, color } of variants) {
    write(`tray/${name}${suffix}.png`, size, trayGlyph(size, color, true));
    write(`tray/${name}-idle${suffix}.png`, size, trayGlyph(size, color, false));
  }
  write(`tray/trayTemplate${suffix}.png`, size, trayGlyph(size, [0, 0, 0, 255], true));
  write(`tray/trayIdleTemplate${suffix}.png`, size, trayGlyph(size, [0, 0, 0, 255], false));
}
