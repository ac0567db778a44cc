// Package peers measures Watchword beside the tools an MSP would otherwise pick, on the same machine and the same
// directory in the same run.
package peers
