// Package server is the headless half of the MSP side: the hub (server/hub and its store, entitlement index and
// command line), the agent (server/agent, its drivers and its command line) and their thin mains (server/cmd).
//
// Nothing under console/server imports Fyne or GL: the hub runs on a server and the agent on a domain controller
// or next to one, both built with CGO_ENABLED=0. shared/buildcheck's import guard holds every package under this
// folder to that with one pattern. The Console app itself (console/main.go, console/vm, console/view,
// console/local) lives beside this folder and talks to the hub only through shared/hubclient.
package server
