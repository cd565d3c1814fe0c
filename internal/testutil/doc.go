// SPDX-License-Identifier: Apache-2.0

// Package testutil holds helpers shared by the module's tests. Only _test.go
// files import it.
package testutil
