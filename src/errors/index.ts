export * from './app-error.js';
export * from './render.js';
