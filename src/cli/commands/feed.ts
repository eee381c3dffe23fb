// `sysextkit feed FEED RELEASE_DIR...`: add releases to a systemd-sysupdate feed (all images behind one signed SHA256SUMS).
import type { Command } from "commander";
import { printJson, table } from "../output.js";

interface FeedFlags {
  gpgKey?: string;
  gpgPassphrase?: string;
  gpgExportPublic?: string;
  json?: boolean;
}

export function registerFeed(program: Command): void {
  program
    .command("feed")
    .description("add release directories to a systemd-sysupdate feed (the directory Source Path= points to)")
    .argument("<feed>", "the feed directory (created when missing)")
    .argument("[releases...]", "release directories written by sysextkit release (OUT/<arch>/)")
    .option("--gpg-key <key>", "OpenPGP secret key signing SHA256SUMS (file, env:NAME or -)")
    .option("--gpg-passphrase <secret>", "passphrase of a protected --gpg-key (file, env:NAME or -)")
    .option("--gpg-export-public <file>", "write the public keyring hosts install as import-pubring.pgp/.gpg")
    .option("--json", "print the result as JSON")
    .action(async (dir: string, releases: string[], flags: FeedFlags) => {
      const { updateFeed } = await import("../../manifest/feed.js");
      const r = await updateFeed({
        dir,
        releases,
        ...(flags.gpgKey ? { gpgKey: flags.gpgKey } : {}),
        ...(flags.gpgPassphrase ? { gpgPassphrase: flags.gpgPassphrase } : {}),
        ...(flags.gpgExportPublic ? { gpgExportPublic: flags.gpgExportPublic } : {}),
      });
      if (flags.json) {
        printJson(r);
        return;
      }
      process.stdout.write(
        `feed ${r.dir}: ${r.feed.images.length} images (${r.added.length} added)${r.feed.signature ? `, signed by ${r.feed.signature.fingerprint}` : ", unsigned"}\n` +
          `${table(
            ["name", "arch", "OS version", "newest", "file"],
            r.newest.map((n) => [n.name, n.arch, n.osVersion, n.version, n.file]),
          )}\n`,
      );
    });
}
