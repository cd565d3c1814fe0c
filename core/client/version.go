// SPDX-License-Identifier: Apache-2.0

package client

// Version is libenos's version, equal to ENOS_VERSION_STRING in
// include/enos.h (abi/check.sh compares the two).
const Version = "1.1.0"
