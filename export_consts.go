// SPDX-License-Identifier: Apache-2.0

package main

/*
#include "export_capi.h"
*/
import "C"

import (
	"time"

	"github.com/libenos/libenos/core/client"
	"github.com/libenos/libenos/core/logging"
	"github.com/libenos/libenos/core/transport"
)

// Compile-time checks that include/enos.h and the core agree: each index is
// out of range (a build error) unless the two constants are equal.
var (
	_ = [1]int{}[C.ENOS_MAX_PAYLOAD-client.MaxPayload]
	_ = [1]int{}[C.ENOS_LOG_OFF-int(logging.Off)]
	_ = [1]int{}[C.ENOS_LOG_ERROR-int(logging.Error)]
	_ = [1]int{}[C.ENOS_LOG_WARN-int(logging.Warn)]
	_ = [1]int{}[C.ENOS_LOG_INFO-int(logging.Info)]
	_ = [1]int{}[C.ENOS_LOG_DEBUG-int(logging.Debug)]
	_ = [1]int{}[C.ENOS_RETRANSMIT_NONE-client.RetransmitNone]
	_ = [1]int{}[C.ENOS_BLOCK_OFF-client.BlockOff]
	_ = [1]int{}[C.ENOS_ERR_INVALID-int(client.CodeInvalid)]
	_ = [1]int{}[C.ENOS_ERR_BUFFER-int(client.CodeBuffer)]
	_ = [1]int{}[C.ENOS_ERR_NETWORK-int(client.CodeNetwork)]
	_ = [1]int{}[C.ENOS_ERR_TIMEOUT-int(client.CodeTimeout)]
	_ = [1]int{}[C.ENOS_ERR_AUTH-int(client.CodeAuth)]
	_ = [1]int{}[C.ENOS_ERR_REJECTED-int(client.CodeRejected)]
	_ = [1]int{}[C.ENOS_ERR_CLOSED-int(client.CodeClosed)]
	_ = [1]int{}[C.ENOS_ERR_STATE-int(client.CodeState)]
	_ = [1]int{}[C.ENOS_ERR_FULL-int(client.CodeFull)]
	_ = [1]int{}[C.ENOS_ERR_BUSY-int(client.CodeBusy)]
	_ = [1]int{}[C.ENOS_ERR_NOFILE-int(client.CodeNoFile)]
	_ = [1]int{}[C.ENOS_ERR_INTERNAL-int(client.CodeInternal)]
	_ = [1]int{}[C.ENOS_MIDS_PER_SOCKET-transport.MIDsPerLifetime]
	_ = [1]int{}[C.ENOS_EXCHANGE_LIFETIME_S-int(transport.ExchangeLifetime/time.Second)]
	_ = [1]int{}[C.ENOS_CLIENTS_PER_SOCKET-transport.MaxConnsPerSocket]
)
