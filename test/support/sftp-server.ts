import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, FileEntry, ParsedKey, SFTPWrapper } from 'ssh2';

// A real SFTP server for the tests (ssh2's Server speaking the SFTP v3 subsystem), serving a temp
// directory as its root: password or public-key authentication, a fresh ed25519 host key whose
// fingerprint the client can pin, and the rough edges of a real server (RENAME onto an existing
// file fails, as OpenSSH's does; attributes in whole seconds).

const { Server, utils } = ssh2;
const { STATUS_CODE, flagsToString } = utils.sftp;

export interface TestSftpServer {
  host: string;
  port: number;
  username: string;
  password: string;
  /** A client key (OpenSSH format) the server accepts for `username`. */
  privateKey: string;
  /** OpenSSH-style fingerprint of the host key, `SHA256:<base64>`. */
  hostKeySha256: string;
  /** The local folder served as `/`. */
  root: string;
  /** The local path of a path on the server. */
  localPath(remotePath: string): string;
  /** Puts a file on the server as an HRIS export job would (written to a temp name, then renamed). */
  drop(remotePath: string, content: string | Buffer, modifiedAt?: Date): Promise<void>;
  /** The file names in a server folder (files only, sorted), [] when the folder does not exist. */
  files(remoteDir: string): Promise<string[]>;
  close(): Promise<void>;
}

const fingerprint = (publicSsh: Buffer) => `SHA256:${createHash('sha256').update(publicSsh).digest('base64').replace(/=+$/, '')}`;

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function longname(name: string, s: { mode: number; size: number; mtime: number; isDirectory: boolean }): string {
  const perms = (s.isDirectory ? 'd' : '-') + [6, 3, 0].map((shift) => {
    const bits = (s.mode >> shift) & 7;
    return `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
  }).join('');
  const date = new Date(s.mtime * 1000).toUTCString().slice(5, 22); // "22 Nov 2026 08:00"
  return `${perms} 1 hrsync hrsync ${String(s.size).padStart(8)} ${date} ${name}`;
}

export async function startSftpServer(options: { root?: string; username?: string; password?: string } = {}): Promise<TestSftpServer> {
  const root = options.root ?? mkdtempSync(join(tmpdir(), 'hrsync-sftp-'));
  const username = options.username ?? 'hris-export';
  const password = options.password ?? 'export-password';
  const hostKey = utils.generateKeyPairSync('ed25519');
  const clientKey = utils.generateKeyPairSync('ed25519');
  const parseKey = (key: string): ParsedKey => {
    const parsed = utils.parseKey(key);
    if (parsed instanceof Error || Array.isArray(parsed)) throw new Error(`could not parse a generated SSH key: ${parsed}`);
    return parsed;
  };
  const parsedHost = parseKey(hostKey.private);
  const allowedKey = parseKey(clientKey.public);

  /** A path on the server (absolute, or relative to `/`) as a local path under the root; never outside it. */
  const virtual = (p: string) => posix.normalize(posix.join('/', p));
  const local = (p: string) => join(root, ...virtual(p).split('/').filter(Boolean));

  const connections = new Set<Connection>();

  function authenticate(ctx: AuthContext) {
    if (ctx.username !== username) return ctx.reject();
    if (ctx.method === 'password') return sameSecret(ctx.password, password) ? ctx.accept() : ctx.reject();
    if (ctx.method === 'publickey') {
      const matches = ctx.key.algo === allowedKey.type && ctx.key.data.equals(allowedKey.getPublicSSH());
      if (!matches) return ctx.reject();
      // Without a signature the client only asks whether this key would do.
      if (!ctx.signature) return ctx.accept();
      return allowedKey.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) ? ctx.accept() : ctx.reject();
    }
    return ctx.reject(['password', 'publickey']);
  }

  function serveSftp(sftp: SFTPWrapper) {
    type Handle = { kind: 'file'; fh: FileHandle } | { kind: 'dir'; path: string; sent: boolean };
    const handles = new Map<number, Handle>();
    let nextHandle = 1;
    const newHandle = (h: Handle) => {
      const id = nextHandle++;
      handles.set(id, h);
      const buf = Buffer.alloc(4);
      buf.writeUInt32BE(id);
      return buf;
    };
    const handleOf = (buf: Buffer) => (buf.length === 4 ? handles.get(buf.readUInt32BE(0)) : undefined);
    const fail = (reqId: number, err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      const status = code === 'ENOENT' ? STATUS_CODE.NO_SUCH_FILE : code === 'EACCES' || code === 'EPERM' ? STATUS_CODE.PERMISSION_DENIED : STATUS_CODE.FAILURE;
      sftp.status(reqId, status, (err as Error).message);
    };
    const attrsOf = async (path: string) => {
      const s = await stat(path);
      return { mode: s.mode, uid: 0, gid: 0, size: s.size, atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) };
    };
    const run = (reqId: number, work: () => Promise<void>) => void work().catch((err) => fail(reqId, err));

    sftp.on('REALPATH', (reqId, path) => {
      const p = virtual(path);
      sftp.name(reqId, [{ filename: p, longname: p, attrs: {} as FileEntry['attrs'] }]);
    });
    sftp.on('STAT', (reqId, path) => run(reqId, async () => sftp.attrs(reqId, await attrsOf(local(path)))));
    sftp.on('LSTAT', (reqId, path) => run(reqId, async () => sftp.attrs(reqId, await attrsOf(local(path)))));
    sftp.on('OPEN', (reqId, filename, flags) =>
      run(reqId, async () => {
        const mode = flagsToString(flags);
        if (!mode) return sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED);
        const fh = await open(local(filename), mode);
        sftp.handle(reqId, newHandle({ kind: 'file', fh }));
      }),
    );
    sftp.on('READ', (reqId, handle, offset, length) =>
      run(reqId, async () => {
        const h = handleOf(handle);
        if (h?.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        const buf = Buffer.alloc(Math.min(length, 64 * 1024));
        const { bytesRead } = await h.fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) return sftp.status(reqId, STATUS_CODE.EOF);
        sftp.data(reqId, buf.subarray(0, bytesRead));
      }),
    );
    sftp.on('WRITE', (reqId, handle, offset, data) =>
      run(reqId, async () => {
        const h = handleOf(handle);
        if (h?.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        await h.fh.write(data, 0, data.length, offset);
        sftp.status(reqId, STATUS_CODE.OK);
      }),
    );
    sftp.on('FSTAT', (reqId, handle) =>
      run(reqId, async () => {
        const h = handleOf(handle);
        if (h?.kind !== 'file') return sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        const s = await h.fh.stat();
        sftp.attrs(reqId, { mode: s.mode, uid: 0, gid: 0, size: s.size, atime: Math.floor(s.atimeMs / 1000), mtime: Math.floor(s.mtimeMs / 1000) });
      }),
    );
    sftp.on('FSETSTAT', (reqId) => sftp.status(reqId, STATUS_CODE.OK));
    sftp.on('SETSTAT', (reqId) => sftp.status(reqId, STATUS_CODE.OK));
    sftp.on('CLOSE', (reqId, handle) =>
      run(reqId, async () => {
        const h = handleOf(handle);
        if (!h) return sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        handles.delete(handle.readUInt32BE(0));
        if (h.kind === 'file') await h.fh.close();
        sftp.status(reqId, STATUS_CODE.OK);
      }),
    );
    sftp.on('OPENDIR', (reqId, path) =>
      run(reqId, async () => {
        if (!(await stat(local(path))).isDirectory()) return sftp.status(reqId, STATUS_CODE.FAILURE, 'not a directory');
        sftp.handle(reqId, newHandle({ kind: 'dir', path: local(path), sent: false }));
      }),
    );
    sftp.on('READDIR', (reqId, handle) =>
      run(reqId, async () => {
        const h = handleOf(handle);
        if (h?.kind !== 'dir') return sftp.status(reqId, STATUS_CODE.FAILURE, 'bad handle');
        if (h.sent) return sftp.status(reqId, STATUS_CODE.EOF);
        h.sent = true;
        const names: FileEntry[] = [];
        for (const entry of await readdir(h.path, { withFileTypes: true })) {
          const attrs = await attrsOf(join(h.path, entry.name));
          names.push({ filename: entry.name, longname: longname(entry.name, { ...attrs, isDirectory: entry.isDirectory() }), attrs });
        }
        if (!names.length) return sftp.status(reqId, STATUS_CODE.EOF);
        sftp.name(reqId, names);
      }),
    );
    sftp.on('MKDIR', (reqId, path) => run(reqId, async () => (await mkdir(local(path)), sftp.status(reqId, STATUS_CODE.OK))));
    sftp.on('RMDIR', (reqId, path) => run(reqId, async () => (await rmdir(local(path)), sftp.status(reqId, STATUS_CODE.OK))));
    sftp.on('REMOVE', (reqId, path) => run(reqId, async () => (await rm(local(path)), sftp.status(reqId, STATUS_CODE.OK))));
    sftp.on('RENAME', (reqId, from, to) =>
      run(reqId, async () => {
        // SFTP v3 (and OpenSSH's server): renaming onto an existing file fails.
        const exists = await stat(local(to)).then(() => true, () => false);
        if (exists) return sftp.status(reqId, STATUS_CODE.FAILURE, `${virtual(to)} already exists`);
        await rename(local(from), local(to));
        sftp.status(reqId, STATUS_CODE.OK);
      }),
    );
    sftp.on('READLINK', (reqId) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
    sftp.on('SYMLINK', (reqId) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));
    sftp.on('close', () => {
      for (const h of handles.values()) if (h.kind === 'file') void h.fh.close().catch(() => undefined);
      handles.clear();
    });
  }

  const server = new Server({ hostKeys: [hostKey.private] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', authenticate);
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp) => serveSftp(acceptSftp()));
      });
    });
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(0, '127.0.0.1', () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;

  return {
    host: '127.0.0.1',
    port,
    username,
    password,
    privateKey: clientKey.private,
    hostKeySha256: fingerprint(parsedHost.getPublicSSH()),
    root,
    localPath: local,
    async drop(remotePath, content, modifiedAt) {
      const target = local(remotePath);
      await mkdir(join(target, '..'), { recursive: true });
      const temp = `${target}.part`;
      await writeFile(temp, content);
      if (modifiedAt) await utimes(temp, modifiedAt, modifiedAt);
      await rename(temp, target);
    },
    async files(remoteDir) {
      const entries = await readdir(local(remoteDir), { withFileTypes: true }).catch(() => []);
      return entries.filter((e) => e.isFile()).map((e) => e.name).sort();
    },
    async close() {
      for (const c of connections) c.end();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}
