// A list+watch cache that keeps going: client-node's ListWatch stops on the first watch error, so
// this wrapper restarts it after a short pause (a 410 Gone already re-lists inside ListWatch).
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';

export interface Informer<T extends KubernetesObject> {
  readonly cache: ListWatch<T>;
  /** Resolves after the first successful list. */
  readonly synced: Promise<void>;
  stop(): Promise<void>;
}

export interface InformerHandlers<T extends KubernetesObject> {
  readonly onChange: (obj: T) => void;
  readonly onDelete: (obj: T) => void;
  readonly onError?: (err: unknown) => void;
}

/** The handlers, and selectors narrowing the watch (the list function applies the same ones). */
export interface InformerOptions<T extends KubernetesObject> extends InformerHandlers<T> {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export function startInformer<T extends KubernetesObject>(
  kc: KubeConfig,
  path: string,
  list: () => Promise<KubernetesListObject<T>>,
  handlers: InformerOptions<T>,
): Informer<T> {
  const cache = new ListWatch<T>(path, new Watch(kc), list, false, handlers.labelSelector, handlers.fieldSelector);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let markSynced: () => void = () => undefined;
  const synced = new Promise<void>((resolveSynced) => {
    markSynced = resolveSynced;
  });
  cache.on('add', handlers.onChange);
  cache.on('update', handlers.onChange);
  cache.on('delete', handlers.onDelete);
  const restart = (): void => {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      cache.start().then(markSynced, (err: unknown) => {
        handlers.onError?.(err);
        restart();
      });
    }, 1000);
  };
  cache.on('error', (err) => {
    if (stopped) return;
    handlers.onError?.(err);
    restart();
  });
  cache.start().then(markSynced, (err: unknown) => {
    handlers.onError?.(err);
    restart();
  });
  return {
    cache,
    synced,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await cache.stop();
    },
  };
}
