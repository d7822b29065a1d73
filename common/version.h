/* version.h -- Flint's version, shown by `flint --version`, /overview and /config. */
#ifndef FL_VERSION_H
#define FL_VERSION_H
#define FL_VERSION "0.1.0"
#endif
