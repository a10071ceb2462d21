// The hello-cluster function's process: the kit's clients wired into the handler, served on $PORT.
import { runFunction } from '@pgfn/fn-runtime';
import { createHandler } from './handler.js';

runFunction('hello-cluster', (kit) => createHandler(kit));
