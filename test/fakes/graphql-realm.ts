import { createRequire } from 'node:module';

/**
 * graphql-js refuses a schema built by another copy of itself ("from another module or realm").
 * Node loads @graphql-tools/schema's `graphql` as CommonJS (the package has no exports map),
 * while Vite would hand test files the .mjs build; requiring it here keeps one realm.
 */
const require = createRequire(import.meta.url);
export const graphql = require('graphql') as typeof import('graphql');
