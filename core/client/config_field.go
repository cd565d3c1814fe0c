// SPDX-License-Identifier: Apache-2.0

package client

// ConfigField identifies the Config field that an invalid-configuration error
// from New is about (Error.Field). Front ends map it to their own spelling of
// the field (the C ABI's enos_config member, a CLI flag) with an explicit
// table, never by transforming Go field names, so renaming a Go field cannot
// silently change what users are told.
type ConfigField int

const (
	FieldNone ConfigField = iota // the error is not about one field
	FieldServer
	FieldProductKey
	FieldDeviceKey
	FieldDeviceSecret
	FieldLifetime
	FieldAckTimeout
	FieldMaxRetransmit
	FieldSignMode
	FieldSignIV
	FieldQueueMaxCount
	FieldQueueMaxBytes
	FieldRetryInterval
	FieldPollInterval
	FieldCommandQueue
	FieldBlockSize
	FieldSecurity
	FieldProductSecret
	FieldStateDir
	numConfigFields
)

// ConfigFields lists every field New can report, for front ends that check
// their table covers them all.
func ConfigFields() []ConfigField {
	all := make([]ConfigField, 0, numConfigFields-1)
	for f := FieldNone + 1; f < numConfigFields; f++ {
		all = append(all, f)
	}
	return all
}
