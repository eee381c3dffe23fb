// The ar container of .deb files: list members (name, data offset, size) without reading their contents.
import { SysextError } from "../../errors.js";
import { openRegularFile } from "../../util/fs.js";

export interface ArMember {
  readonly name: string;
  /** Offset of the member's data inside the archive file. */
  readonly offset: number;
  readonly size: number;
}

const MAGIC = "!<arch>\n";
const HEADER = 60;
/** Longest member name we read (BSD "#1/N" names are stored in the member data). */
const MAX_NAME = 4096;

/**
 * Read the member table of an ar archive. Accepts GNU ("name/") and BSD ("#1/N") names and skips GNU
 * symbol and long-name tables. A bad magic, a malformed header or a member running past the end of the
 * file is a PACKAGE_INVALID error naming the file.
 */
export async function readArMembers(file: string): Promise<ArMember[]> {
  const bad = (why: string, cause?: unknown) =>
    new SysextError("PACKAGE_INVALID", `${file} is not a valid .deb package: ${why}`, {
      location: { file },
      hint: "the file is corrupt or not a Debian package; download it again (apt-get download <name>) or rebuild it with dpkg-deb --build",
      ...(cause === undefined ? {} : { cause }),
    });
  const fh = await openRegularFile(file, "package", "PACKAGE_INVALID");
  try {
    const { size: total } = await fh.stat();
    const magic = Buffer.alloc(MAGIC.length);
    const { bytesRead } = await fh.read(magic, 0, MAGIC.length, 0);
    if (bytesRead < MAGIC.length || magic.toString("latin1") !== MAGIC)
      throw bad("no ar archive header (!<arch>)");
    const members: ArMember[] = [];
    const header = Buffer.alloc(HEADER);
    let pos = MAGIC.length;
    while (pos < total) {
      // A lone padding byte at the very end is tolerated.
      if (total - pos === 1) break;
      const r = await fh.read(header, 0, HEADER, pos);
      if (r.bytesRead < HEADER) throw bad(`truncated member header at offset ${pos}`);
      if (header.toString("latin1", 58, 60) !== "`\n") throw bad(`malformed member header at offset ${pos}`);
      const rawName = header.toString("latin1", 0, 16).trimEnd();
      const sizeText = header.toString("latin1", 48, 58).trim();
      if (!/^\d+$/.test(sizeText))
        throw bad(`malformed member size ${JSON.stringify(sizeText)} at offset ${pos}`);
      let size = Number(sizeText);
      let offset = pos + HEADER;
      if (offset + size > total)
        throw bad(
          `member ${JSON.stringify(rawName)} is truncated (needs ${size} bytes at offset ${offset}, file has ${total})`,
        );
      const skip =
        rawName === "/" || rawName === "//" || rawName === "/SYM64/" || rawName.startsWith("__.SYMDEF");
      let name = rawName;
      const bsd = /^#1\/(\d+)$/.exec(rawName);
      if (bsd) {
        const len = Number(bsd[1]);
        if (len > size || len > MAX_NAME)
          throw bad(`BSD long name of member at offset ${pos} is ${len} bytes long`);
        const nb = Buffer.alloc(len);
        await fh.read(nb, 0, len, offset);
        name = nb.toString("utf8").replace(/\0+$/, "");
        offset += len;
        size -= len;
      } else if (!skip && name.endsWith("/")) {
        name = name.slice(0, -1);
      }
      if (!skip) members.push({ name, offset, size });
      pos = pos + HEADER + Number(sizeText) + (Number(sizeText) % 2);
    }
    return members;
  } finally {
    await fh.close();
  }
}

/** Read a (small) member fully into memory. */
export async function readArMemberBytes(file: string, member: ArMember, limit = 1 << 20): Promise<Buffer> {
  if (member.size > limit) {
    throw new SysextError(
      "PACKAGE_INVALID",
      `member ${member.name} of ${file} is unexpectedly large (${member.size} bytes)`,
      {
        location: { file },
        hint: "the package looks corrupt; download it again",
      },
    );
  }
  const fh = await openRegularFile(file, "package", "PACKAGE_INVALID");
  try {
    const buf = Buffer.alloc(member.size);
    await fh.read(buf, 0, member.size, member.offset);
    return buf;
  } finally {
    await fh.close();
  }
}
