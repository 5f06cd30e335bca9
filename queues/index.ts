export * from './create.ts';
export * from './results.ts';
