/**
 * The stack program: this stack's config, read and validated, built as one `CanaryService` (the
 * library's, program/), whose outputs are the stack's. A team's own program does the same with its own
 * settings (docs/library.md).
 */
import { CanaryService } from "./program/service";
import { readStackArgs } from "./program/stack";

export = async () => (await CanaryService.create("service", readStackArgs())).outputs;
