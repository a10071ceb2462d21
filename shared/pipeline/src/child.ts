// The pipeline's processes (adapters, functions) are the local stack's one process class.
export { ManagedProcess as Child, type ProcessOptions as ChildOptions } from '@pgfn/controlplane';
