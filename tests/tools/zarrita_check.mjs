// A second, independent reader of the zarr v3 arrays cairn writes: npm's zarrita (sharding,
// crc32c, and zstd through numcodecs) opens each array the fixture listed in manifest.json,
// reads it whole, and the SHA-256 of its values must equal that of the bytes cairn wrote.
//   node zarrita_check.mjs NPM_DIR DATA_DIR
// NPM_DIR holds node_modules/zarrita; DATA_DIR holds the arrays, manifest.json and expected/.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [npmDir, dataDir] = process.argv.slice(2);

// The module a package exports to `import`, from below NPM_DIR (this script lives elsewhere).
async function importPackage(name, subpath = ".") {
  const root = join(npmDir, "node_modules", name);
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  return import(pathToFileURL(join(root, manifest.exports[subpath].import)).href);
}

const zarr = await importPackage("zarrita");
const { FileSystemStore } = await importPackage("@zarrita/storage");

// A 0-d array reads as its one value rather than a chunk: made into one element's bytes.
const ScalarArrays = {
  bool: Uint8Array, int8: Int8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array,
  uint64: BigUint64Array, float32: Float32Array, float64: Float64Array,
};

function asChunk(result, dtype) {
  if (result !== null && typeof result === "object" && "data" in result) return result;
  const value = dtype === "bool" ? Number(result) : result;
  return { data: ScalarArrays[dtype].of(value), shape: [] };
}

function sha256(bytes) {
  return createHash("sha256").update(bytes).digest("hex");
}

const store = new FileSystemStore(dataDir);
const arrays = JSON.parse(readFileSync(join(dataDir, "manifest.json"), "utf8"));
let failures = 0;
for (const entry of arrays) {
  let line;
  try {
    const array = await zarr.open(zarr.root(store).resolve(entry.path), { kind: "array" });
    const chunk = asChunk(await zarr.get(array), array.dtype);
    const data = chunk.data;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const got = sha256(bytes);
    const want = sha256(readFileSync(join(dataDir, "expected", entry.path + ".raw")));
    const shapeOk = JSON.stringify(chunk.shape) === JSON.stringify(entry.shape);
    const dtypeOk = array.dtype === entry.dtype;
    const ok = got === want && shapeOk && dtypeOk;
    if (!ok) failures++;
    line = `${ok ? "ok  " : "FAIL"} ${entry.path} ${array.dtype} [${chunk.shape}] sha256 ${got}` +
      (ok ? "" : ` (expected ${entry.dtype} [${entry.shape}] sha256 ${want})`);
  } catch (error) {
    failures++;
    line = `FAIL ${entry.path}: ${error}`;
  }
  console.log(line);
}
console.log(`${arrays.length - failures} of ${arrays.length} arrays read as written`);
process.exit(failures === 0 && arrays.length > 0 ? 0 : 1);
