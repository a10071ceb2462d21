// `kubectl exec` for functions: a command in a pod's container through the API server (pods/exec,
// WebSocket), the way upstream's operator runs Spilo's scripts (ExecCommand). Output is collected;
// the exit code comes from the status the kubelet sends at the end.
import { Readable, Writable } from 'node:stream';
import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';

export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecRequest {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly command: readonly string[];
  /** What the command reads on its standard input (closed at the end); none when absent. */
  readonly stdin?: Buffer | string;
}

export type PodExec = (request: ExecRequest) => Promise<ExecResult>;

interface Closable {
  on(event: 'close', listener: () => void): void;
}

function collector(into: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done): void {
      into.push(Buffer.from(chunk));
      done();
    },
  });
}

/** Exit code from the kubelet's final status: 0 on Success, the NonZeroExitCode cause otherwise. */
export function exitCodeOf(status: V1Status): number {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : 1;
}

export function podExec(kc: KubeConfig): PodExec {
  const exec = new Exec(kc);
  return async ({ namespace, pod, container, command, stdin }) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let status: V1Status | undefined;
    // isomorphic-ws' type does not resolve here; only its close event matters.
    const opened: Promise<unknown> = exec.exec(
      namespace,
      pod,
      container,
      [...command],
      collector(out),
      collector(err),
      stdin === undefined ? null : Readable.from([Buffer.from(stdin)]),
      false,
      (s) => {
        status = s;
      },
    );
    const socket = (await opened) as Closable;
    await new Promise<void>((resolveClose) => socket.on('close', () => resolveClose()));
    const stderr = Buffer.concat(err).toString('utf8');
    if (status === undefined) throw new Error(`exec in ${namespace}/${pod} ended without a status: ${stderr.trim()}`);
    return { exitCode: exitCodeOf(status), stdout: Buffer.concat(out).toString('utf8'), stderr };
  };
}
