/** Mocha root hooks: whatever the suites left in the temp dir is removed once the run ends. */
import { removeTempDirs } from "../demo/host";

export const mochaHooks = {
    afterAll(): void {
        removeTempDirs();
    },
};
