module canary/tools/waitfor

go 1.23

// The JSONPath library pulumi-kubernetes evaluates `pulumi.com/waitFor` with (its provider go.mod).
require github.com/theory/jsonpath v0.9.0
