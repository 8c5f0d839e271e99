/**
 * The platform stack's program: the cluster's shared add-ons as one `CanaryPlatform`, whose outputs
 * are the stack's, read by every service's stack (`canary:platform`).
 */
import { CanaryPlatform } from "../program/platform";
import { readStackArgs } from "../program/stack";

export = async () => CanaryPlatform.create("platform", readStackArgs()).outputs;
