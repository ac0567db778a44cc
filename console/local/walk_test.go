package local

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

func filepathWalk(dir, secret string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), secret) {
			return fmt.Errorf("the recovery identity was written to %s", p)
		}
		return nil
	})
}
