package main

import (
	"net/http"
	"os/user"
)

type whoami struct {
	UID      string `json:"uid"`
	GID      string `json:"gid"`
	Username string `json:"username"`
	Name     string `json:"name"`
	HomeDir  string `json:"homeDir"`
}

// handleWhoami answers the account the service runs as. With cgo, os/user asks glibc's
// NSS (nsswitch.conf, then /etc/passwd) on every call.
func (s *server) handleWhoami(w http.ResponseWriter, r *http.Request) {
	u, err := user.Current()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "looking up the current user: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, whoami{UID: u.Uid, GID: u.Gid, Username: u.Username, Name: u.Name, HomeDir: u.HomeDir})
}
