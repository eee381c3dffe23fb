import { TreeBuilder } from "./src/tree/tree.js";
import { openDecompressed, readTarStream } from "./src/tree/sources/tar-reader.js";
const b = new TreeBuilder();
const n = await readTarStream(b, await openDecompressed("/tmp/dbg/p.tar"), {
  to: "/",
  strip: Number(process.argv[2]),
  exclude: [],
  onConflict: "error",
  origin: "x",
  blobFile: "/tmp/dbg/blob",
});
console.log(n, [...b.paths()]);
