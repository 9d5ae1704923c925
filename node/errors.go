package node

import (
	"errors"

	"kad/transports"
)

var (
	// ErrNotFound is returned by Get when no node holds the key.
	ErrNotFound = errors.New("not found")
	// ErrClosed is returned by a Node after Close. It matches net.ErrClosed too.
	ErrClosed = transports.ErrClosed
	// ErrNoContacts is returned when the routing table is empty, so a lookup has nowhere to start.
	ErrNoContacts = errors.New("no contacts: bootstrap first")
	// ErrBootstrap is returned by Bootstrap when no bootstrap node answered.
	ErrBootstrap = errors.New("bootstrap failed")
	// ErrBadReply is returned when a peer answers with a message that does not fit the request.
	ErrBadReply = errors.New("bad reply")
	// ErrValueTooLarge is returned by Put for a value over protocol.MaxValueSize.
	ErrValueTooLarge = errors.New("value too large")
	// ErrStoreFull is returned when a new record would pass Config.MaxStoreBytes.
	ErrStoreFull = errors.New("store full")
	// ErrSenderQuota is returned when a STORE would take its sender past
	// Config.MaxRecordsPerSender or Config.MaxBytesPerSender.
	ErrSenderQuota = errors.New("sender over its store quota")
	// ErrPublishedFull is returned by Put, before it sends anything, when the node already
	// publishes Config.MaxPublished records and the key is not one of them. Unpublish
	// frees room.
	ErrPublishedFull = errors.New("published records full")
)
