/** The server starters moved to stack/ (the local stack uses them too); tests import them from here as before. */
export * from '../../../stack/processes.js';
