import { cleanUp, CLEANUP_HOOK_TIMEOUT_MS, enterTest } from './cleanup';

// Installed for every test file by jest.config.js (setupFilesAfterEnv): the
// root-level hooks run before every beforeEach and after every afterEach of
// the file, so the registry sees each test's whole life.
beforeEach(() => enterTest());
afterEach(() => cleanUp('test'), CLEANUP_HOOK_TIMEOUT_MS);
afterAll(() => cleanUp('file'), CLEANUP_HOOK_TIMEOUT_MS);
