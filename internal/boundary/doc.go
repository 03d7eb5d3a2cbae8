// Package boundary is the home of the rules of the plugin ABI's boundary
// that do not depend on the runtime; today: the identity a plugin's lines
// and events carry (Identify, Named) and the delivery of a supervised
// plugin's state changes (States).
package boundary
